"""`python -m worker` entry point: delegates to the CLI and nothing else."""

import sys

from worker.cli import main

sys.exit(main())
