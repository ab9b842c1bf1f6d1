package compose

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dtask-dev/dtask/engine/taskfile"
)

// service maps one compose service into dtask's model.
func service(name string, sc types.ServiceConfig) (*taskfile.Service, error) {
	svc := &taskfile.Service{Name: name, Image: esc(sc.Image), Cmd: escAll(sc.Command), Env: map[string]string{}}
	if sc.Build != nil {
		svc.ComposeBuild, svc.Image = build(sc.Build, sc.Image), ""
	} else if sc.Image == "" {
		return nil, fmt.Errorf("no image and no build")
	}
	for k, v := range sc.Environment {
		if v != nil { // a name without a value and unset in the environment
			svc.Env[k] = esc(*v)
		}
	}
	for _, v := range sc.Volumes {
		vol, err := volume(v)
		if err != nil {
			return nil, err
		}
		svc.Volumes = append(svc.Volumes, vol)
	}
	for _, p := range sc.Ports {
		svc.Ports = append(svc.Ports, port(p))
	}
	svc.Health = health(sc.HealthCheck)
	svc.DependsOn = slices.Sorted(maps.Keys(sc.DependsOn))
	return svc, nil
}

// build is a compose build as a build target: the Dockerfile is relative
// to the context there, to the task file's folder in dtask; an image name
// beside build is the tag it gets, as compose does.
func build(b *types.BuildConfig, image string) *taskfile.Build {
	out := &taskfile.Build{Context: esc(b.Context), Target: esc(b.Target)}
	if df := b.Dockerfile; df != "" {
		if !filepath.IsAbs(df) {
			df = filepath.Join(b.Context, df)
		}
		out.Dockerfile = esc(df)
	}
	if image != "" {
		out.Tags = []string{esc(image)}
	}
	for k, v := range b.Args {
		if v != nil { // a name without a value and unset in the environment
			if out.Args == nil {
				out.Args = map[string]string{}
			}
			out.Args[k] = esc(*v)
		}
	}
	return out
}

// volume writes a compose volume as SOURCE:TARGET[:ro]; paths are
// absolute already (compose resolves them against the file's folder).
func volume(v types.ServiceVolumeConfig) (string, error) {
	switch v.Type {
	case types.VolumeTypeBind, types.VolumeTypeVolume:
	default:
		return "", fmt.Errorf("volume %s: type %s is not supported (bind or volume)", v.Target, v.Type)
	}
	if v.Source == "" {
		return "", fmt.Errorf("volume %s: an anonymous volume is not supported; name it", v.Target)
	}
	s := esc(v.Source) + ":" + esc(v.Target)
	if v.ReadOnly {
		s += ":ro"
	}
	return s, nil
}

// port writes a compose port as [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO].
func port(p types.ServicePortConfig) string {
	s := fmt.Sprint(p.Target)
	if p.Published != "" {
		s = p.Published + ":" + s
		if p.HostIP != "" {
			s = p.HostIP + ":" + s
		}
	}
	if p.Protocol != "" && p.Protocol != "tcp" {
		s += "/" + p.Protocol
	}
	return s
}

// health is the compose healthcheck, used for readiness when the task
// file gives no ready check; disable turns the image's off.
func health(h *types.HealthCheckConfig) *taskfile.Health {
	if h == nil {
		return nil
	}
	if h.Disable {
		return &taskfile.Health{Test: []string{"NONE"}}
	}
	// Not escaped: the task file's interpolation leaves this field alone.
	out := &taskfile.Health{Test: h.Test}
	out.Interval.Duration = dur(h.Interval)
	out.Timeout.Duration = dur(h.Timeout)
	out.StartPeriod.Duration = dur(h.StartPeriod)
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

func dur(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// esc keeps a value compose already interpolated from being interpolated
// again by the task file's ${NAME} rules.
func esc(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = esc(s)
	}
	return out
}
