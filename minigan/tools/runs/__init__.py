"""Runs: the mechanics every training script shares, in the package so that your own script gets them too.

    harness       ``Run``: open a run (--resume, --out), start it (data, state), train it with a checkpoint
                  every epoch, Ctrl-C and divergence handled; ``run_script``: one line and an exit status
                  for every way a run ends early; side streams of random numbers for fixed pictures
    flags         the flags every training script takes (``add_run_flags``) and which of them were typed
    folders       a run owns its folder (a lock while it runs, a manifest of what it wrote); before
                  training: an --out that loses no earlier run, memory and disk enough, data that make
                  at least one step
    checkpoints   the checkpoint written after every epoch, the history, and reading them back for --resume

Start with ``harness``: its docstring shows a whole script.
"""

from minigan.tools.runs.checkpoints import CHECKPOINT, EpochCheckpoints, data_record, save_history, save_history_arrays
from minigan.tools.runs.flags import (EXIT_STATUS_HELP, OUTPUT_HELP, TRAINING_HELP, HelpFormatter, add_image_task_flags,
                                      add_run_flags, check_image_task_memory, flag_of, parse_flags, training_parser)
from minigan.tools.runs.folders import (RunError, available_memory, check_free_space, check_memory, check_output_folder, check_sample_budget,
                                        check_trainable, check_trainable_batches, first_n, prepare_output_file,
                                        prepare_output_folder)
from minigan.tools.runs.harness import (EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_USAGE, RECORD, USER_ERRORS, Run, RunStopped,
                                        guarded_training, run_script, save_samples, seeded_rng, side_rng, to_unit_range,
                                        write_measurements)
