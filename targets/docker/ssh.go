package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// sshPlaceholderHost is the HTTP host the client puts in requests sent
// through an ssh connection; the remote docker CLI ignores it.
const sshPlaceholderHost = "http://docker.example.com"

// ConnectHost connects to the engine at host, a DOCKER_HOST value (""
// means the DOCKER_HOST variable, then the default socket). ssh:// hosts
// are reached as the docker CLI reaches them: through the system's ssh (so
// its config, agent and known hosts apply) running `docker system
// dial-stdio` on the remote machine.
func ConnectHost(ctx context.Context, host string) (*Client, error) {
	if host == "" && strings.HasPrefix(os.Getenv("DOCKER_HOST"), "ssh://") {
		host = os.Getenv("DOCKER_HOST")
	}
	if !strings.HasPrefix(host, "ssh://") {
		return Connect(ctx, host)
	}
	dial, err := sshDialer(host)
	if err != nil {
		return nil, &UnreachableError{Host: host, Err: err}
	}
	c, err := Connect(ctx, sshPlaceholderHost, client.WithDialContext(dial))
	if ue := (*UnreachableError)(nil); errors.As(err, &ue) {
		ue.Host = host
	}
	if err != nil {
		return nil, err
	}
	c.Host = host
	return c, nil
}

// sshArgs returns the ssh command line for an ssh:// DOCKER_HOST, as the
// docker CLI's connection helper builds it.
func sshArgs(host string) ([]string, error) {
	args, err := sshLogin(host)
	if err != nil {
		return nil, err
	}
	return append(args, "docker", "system", "dial-stdio"), nil
}

// sshLogin returns ssh's options and "-- [user@]host" for an ssh:// host.
func sshLogin(host string) ([]string, error) {
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("bad ssh host %q: %w", host, err)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("bad ssh host %q: want ssh://[user@]host[:port]", host)
	}
	args := []string{"-o", "ConnectTimeout=30", "-T"}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	target := u.Hostname()
	if u.User != nil {
		target = u.User.Username() + "@" + target
	}
	return append(args, "--", target), nil
}

func sshDialer(host string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	args, err := sshArgs(host)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		// Not CommandContext: the connection outlives the dial's context
		// (the HTTP transport keeps it for later requests); Close ends it.
		cmd := exec.Command("ssh", args...)
		return startCmdConn(cmd)
	}, nil
}

// cmdConn is a net.Conn over a command's stdin and stdout.
type cmdConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *os.File // ours, not exec's pipe: Wait must not close it under a reader
	stderr *stderrTail
	exited chan struct{} // closed once the command ended and its stderr was copied
	once   sync.Once
}

func startCmdConn(cmd *exec.Cmd) (*cmdConn, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c := &cmdConn{cmd: cmd, stdin: stdin, stdout: r, stderr: &stderrTail{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w, c.stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("starting ssh: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil && n == 0 {
		err = c.explain(err)
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		err = c.explain(err)
	}
	return n, err
}

// explain adds what ssh printed to an error of a stream that ended early
// (a refused key, an unknown host, no docker on the remote side): a bare
// EOF or broken pipe would explain nothing.
func (c *cmdConn) explain(err error) error {
	wait := 500 * time.Millisecond
	if errors.Is(err, syscall.EPIPE) {
		// ssh closed its input: it is exiting, and on a loaded machine
		// its stderr can take longer than a stream's end to arrive.
		wait = 10 * time.Second
	}
	select {
	case <-c.exited: // ssh's last words are in
	case <-time.After(wait):
	}
	if msg := c.stderr.String(); msg != "" {
		return &sshError{msg: msg, err: err}
	}
	return err
}

// sshError is a stream that ended because ssh did: what ssh printed is
// the reason, the stream's own error (EOF, broken pipe) only how it
// showed.
type sshError struct {
	msg string
	err error
}

func (e *sshError) Error() string { return "ssh: " + e.msg + ": " + e.err.Error() }
func (e *sshError) Unwrap() error { return e.err }

func (c *cmdConn) Close() error {
	c.once.Do(func() {
		_ = c.stdin.Close()
		_ = c.cmd.Process.Kill()
		<-c.exited
		_ = c.stdout.Close()
	})
	return nil
}

// CloseWrite lets a hijacked stream (exec) signal the end of its input.
func (c *cmdConn) CloseWrite() error { return c.stdin.Close() }

func (c *cmdConn) LocalAddr() net.Addr              { return sshAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr             { return sshAddr{} }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

type sshAddr struct{}

func (sshAddr) Network() string { return "ssh" }
func (sshAddr) String() string  { return "ssh" }

// stderrTail keeps the last KiB of ssh's stderr.
type stderrTail struct {
	mu sync.Mutex
	b  []byte
}

func (s *stderrTail) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	if len(s.b) > 1024 {
		s.b = s.b[len(s.b)-1024:]
	}
	return len(p), nil
}

func (s *stderrTail) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(string(s.b))
}
