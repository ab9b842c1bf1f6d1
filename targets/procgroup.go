package targets

import (
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// GroupWatch kills the process groups of host commands when dtask dies,
// however it dies. Pdeathsig reaches only the shell itself, and a kill -9
// leaves no exit path to run code on; so a small sh started once per run
// reads the groups dtask has open on a pipe, and at end of file (dtask
// exited: the kernel closes the pipe) kills those still open.
type GroupWatch struct {
	once sync.Once
	mu   sync.Mutex
	w    io.WriteCloser // nil when the watcher could not start
	cmd  *exec.Cmd
}

// watchScript keeps a list of open groups; "+ PGID" adds one, "- PGID"
// removes it.
const watchScript = `trap '' INT TERM HUP PIPE
live=" "
while read -r op pg; do
  case $op in
    +) live="$live$pg " ;;
    -) live="${live%% $pg *} ${live#* $pg }" ;;
  esac
done
for pg in $live; do kill -9 -"$pg" 2>/dev/null; done
`

func (g *GroupWatch) start() {
	cmd := exec.Command("sh", "-c", watchScript)
	// Its own group, so that Ctrl-C at a terminal does not reach it, and
	// no output, so that it never holds dtask's stdout open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return
	}
	if cmd.Start() != nil {
		return
	}
	g.w, g.cmd = w, cmd
}

// Start starts the watcher if it is not running yet. A host command
// calls it before it starts its shell: started on the first Send instead,
// the watcher (a fork and exec) could come up after the shell had already
// spawned children, and a kill -9 of dtask in that window left them
// running.
func (g *GroupWatch) Start() { g.once.Do(g.start) }

// Send writes one line to the watcher; failures leave the group to the
// other exit paths.
func (g *GroupWatch) Send(op string, pgid int) {
	g.once.Do(g.start)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != nil {
		_, _ = fmt.Fprintf(g.w, "%s %s\n", op, strconv.Itoa(pgid))
	}
}

// close ends the watcher once every group is closed: it then kills nothing.
func (g *GroupWatch) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.w != nil {
		_ = g.w.Close()
		_ = g.cmd.Wait()
		g.w = nil
	}
}

// Groups is the watcher of the run's host commands' process groups.
func (e *Env) Groups() *GroupWatch { return &e.groups }
