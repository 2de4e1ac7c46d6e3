"""`python -m sec_offchain.cli ARGS` runs `sec ARGS` from this source tree."""

from sec_offchain.cli import main

main()
