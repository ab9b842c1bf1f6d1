package docker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// allocated is what ssh says when the server picked the port of a remote
// forward (-R 0:...).
var allocated = regexp.MustCompile(`Allocated port (\d+) for remote forward`)

// ReverseTunnel makes a port on the ssh:// host's loopback lead to local
// (host:port on this machine), through the system's ssh as ConnectHost
// uses it, and returns that port. stop ends the tunnel.
func ReverseTunnel(ctx context.Context, host, local string) (port int, stop func(), err error) {
	login, err := sshLogin(host)
	if err != nil {
		return 0, nil, err
	}
	// Options before the "--" that ends them; LogLevel INFO for the
	// "Allocated port" line, which the user's config may silence.
	args := append([]string{"-N", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=INFO",
		"-R", "127.0.0.1:0:" + local}, login...)
	cmd := exec.Command("ssh", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("starting ssh: %w", err)
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	found := make(chan int, 1)
	var said strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := allocated.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				found <- n
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			said.WriteString(sc.Text() + "\n")
		}
		close(found)
	}()
	select {
	case n, ok := <-found:
		if ok && n > 0 {
			return n, stop, nil
		}
		stop()
		return 0, nil, fmt.Errorf("ssh gave no forwarded port: %s", strings.TrimSpace(said.String()))
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	stop()
	return 0, nil, fmt.Errorf("no forwarded port from ssh to %s within 30s", host)
}
