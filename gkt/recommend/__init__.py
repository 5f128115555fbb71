"""Teacher recommendation (docs/method.md#teacher-ranking): which zoo model to transfer from, before transferring.

* `gkt.complementary.stats.all_pair_stats`: pair statistics of every ordered pair of the zoo;
* `features`: what is known about a pair before transfer (pair statistics, the DP routing share on the
  transfer set, zoo metadata) and the KL+DP transfers measured so far;
* `model`: the predicted KL+DP transfer delta, fitted leave-one-student-out, the ranking and its
  validation against the measured transfers;
* `improve`: sequential KL+DP transfer from the top-ranked teachers.
"""
