# What scripts/bench/project/engine.sh needs to know about hits (sourced
# in the checkout's folder).
# Every target of `dtask ci` up to date (compose:cache too) is this line
# of its summary.
ALL_CACHED="7 cached"
# The tests ran when the log has this line.
TESTS_RAN="12 tests passed, 0 failed"
# change N: one line of the app, changed in a way that still passes.
change() { sed -i "s/^MAX_PAGE_LEN=.*/MAX_PAGE_LEN=64  # change $1/" src/lib/page.sh; }
