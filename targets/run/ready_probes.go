package run

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// Ready probes run inside the service's container, so they see what the
// target's container will see on the private network, whatever the engine
// (local, Docker Desktop's VM, a remote host). Many service images have no
// nc, curl or wget, so:
//   - tcp reads /proc/net/tcp{,6} with sh builtins only and passes when a
//     socket listens on the port on a non-loopback address (reachable from
//     the network) — the state a TCP connect would succeed against;
//   - http uses curl or wget from the image.
// When the image has no sh (exit 126/127: distroless, scratch) or, for
// http, neither curl nor wget (exit 127), the probe falls back to
// connecting from dtask's host to the container's address on the private
// network, which works when the engine runs on this machine (Linux).

const noShell = 127

func tcpListenScript(port int) string {
	hexPort := fmt.Sprintf("%04X", port)
	return `for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r "$f" ] || continue
  while read -r sl local remote st rest; do
    case "$local:$st" in
      0100007F:*|00000000000000000000000001000000:*) ;;
      *:` + hexPort + `:0A) exit 0 ;;
    esac
  done < "$f"
done
echo "nothing listens on port ` + strconv.Itoa(port) + ` yet"
exit 1`
}

const httpProbeScript = `if command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null --max-time 5 "$1"; fi
if command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null "$1"; fi
exit 127`

func (p *ServicePool) TCPProbe(cli *docker.Client, svc *taskfile.Service, id string, port int) Probe {
	script := tcpListenScript(port)
	return func(ctx context.Context) (bool, string, error) {
		code, out, err := execIn(ctx, cli, id, []string{"sh", "-c", script})
		if err == nil && code == 0 {
			return true, "", nil
		}
		if err != nil || code < 126 {
			return false, out, err
		}
		ip, err := p.containerIP(ctx, cli, id)
		if err != nil {
			return false, out, err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return false, "", err
		}
		conn.Close()
		return true, "", nil
	}
}

func (p *ServicePool) HTTPProbe(cli *docker.Client, svc *taskfile.Service, id, rawURL string) Probe {
	return func(ctx context.Context) (bool, string, error) {
		code, out, err := execIn(ctx, cli, id, []string{"sh", "-c", httpProbeScript, "sh", rawURL})
		if err == nil && code == 0 {
			return true, "", nil
		}
		if err != nil || code != noShell && code != 126 {
			if err == nil {
				out = fmt.Sprintf("%s(exit code %d)", out, code)
			}
			return false, out, err
		}
		return p.hostHTTP(ctx, cli, svc, id, rawURL)
	}
}

// hostHTTP fetches rawURL from this host, with a host name that means the
// service itself replaced by its address on the private network.
func (p *ServicePool) hostHTTP(ctx context.Context, cli *docker.Client, svc *taskfile.Service, id, rawURL string) (bool, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false, "", err
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1", svc.Name:
		ip, err := p.containerIP(ctx, cli, id)
		if err != nil {
			return false, "", err
		}
		if port := u.Port(); port != "" {
			u.Host = net.JoinHostPort(ip, port)
		} else {
			u.Host = ip
		}
	}
	return HTTPOK(ctx, u.String())
}

// containerIP is the container's address on the pool's network.
func (p *ServicePool) containerIP(ctx context.Context, cli *docker.Client, id string) (string, error) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", err
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		if ep := ns.Networks[p.network]; ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String(), nil
		}
	}
	return "", fmt.Errorf("container %.12s has no address on network %s", id, p.network)
}

// NewProber is a pool that only probes, for containers on network: a
// deploy checks its own container with the services' probes.
func NewProber(e *targets.Env, network string) *ServicePool {
	return &ServicePool{e: e, network: network}
}
