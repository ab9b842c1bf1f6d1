// Command interrupt serves a stuck engine (internal/stuckengine) that holds
// the request it stops at (and with -all every later one), for scripts/bench/interrupt/run.sh: it prints
// "reached" when that request arrives, and serves until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dtask-dev/dtask/internal/stuckengine"
)

func main() {
	sock := flag.String("sock", "", "unix socket to listen on")
	at := flag.String("at", "", `the request to hold: the first whose path contains this ("": the first ping)`)
	all := flag.Bool("all", false, "hold every request after that one too, pings included")
	flag.Parse()
	mode := stuckengine.Hold
	if *all {
		mode = stuckengine.HoldAll
	}
	e, err := stuckengine.Start(*sock, *at, mode)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer e.Close()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-e.Reached:
		fmt.Println("reached")
	case <-stop:
		return
	}
	<-stop
}
