"""The noisy-label suite (under construction): CE, Dropout, Nested Dropout, Co-teaching, Nested + Co-teaching, ELR
and ELR+ on Clothing1M, ANIMAL-10N, CIFAR and the offline noisy twin.

* ``losses`` -- the methods' losses and selection rules as plain torch functions: nested dropout's truncation
  (Chen et al., TNNLS 2022), co-teaching's small-loss exchange (Han et al., NeurIPS 2018), ELR's target estimate
  and regulariser and ELR+'s mixup, mean teachers and ramped loss (Liu et al., NeurIPS 2020).
* ``data`` -- the ``DataLoader`` of JPEG datasets: persistent decoding workers, pinned memory, seeded shuffle.
* ``models`` -- the offline backbone (a small CNN), the feature classifier with dropout or nested truncation,
  and the nested read-out at every width with the authors' choice of the best one.

Not registered as a suite yet: profiles, trainers, evaluation and the suite itself come next.
"""
