# What scripts/bench/project/engine.sh needs to know about the shop
# (sourced in the checkout's folder).
# Every target of `dtask ci` up to date is this line of its summary.
ALL_CACHED="6 cached"
# The tests ran when the log has this line.
TESTS_RAN="Ran 5 tests"
# change N: one line of the app, changed in a way that still passes.
change() { sed -i "s/^TAX_RATE = .*/TAX_RATE = 0.2  # change $1/" app/shop.py; }
