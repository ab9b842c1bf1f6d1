package push

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/registryauth"
)

// auth returns the X-Registry-Auth value for ref's registry.
func (a *pushAction) auth(ctx context.Context, ref string) (string, error) {
	ac, err := a.authConfig(ctx, ref)
	if err != nil {
		return "", err
	}
	return registryauth.Encode(ac)
}

// authConfig returns the credentials for ref's registry: the target's
// username and [secrets] password when given, else what the Docker config
// and its credential helpers hold for it.
func (a *pushAction) authConfig(ctx context.Context, ref string) (registry.AuthConfig, error) {
	host, err := registryauth.Host(ref)
	if err != nil {
		return registry.AuthConfig{}, fmt.Errorf("tag %q: %w", ref, err)
	}
	pu := a.t.Push
	if pu.Username != "" || pu.Password != "" {
		ac := registry.AuthConfig{Username: pu.Username, ServerAddress: registryauth.ServerKey(host)}
		if pu.Password != "" {
			if a.e.Secret == nil {
				return registry.AuthConfig{}, fmt.Errorf("password: no secrets available")
			}
			pw, err := a.e.Secret(pu.Password)
			if err != nil {
				return registry.AuthConfig{}, fmt.Errorf("password: %w", err)
			}
			if a.e.Mask != nil {
				a.e.Mask(pw)
			}
			ac.Password = pw
		}
		return ac, nil
	}
	return registryauth.ForHost(ctx, host)
}

// remoteDigest asks the registry, through the engine, for the manifest
// digest ref points at.
func remoteDigest(ctx context.Context, cli *docker.Client, ref, auth string) (string, error) {
	res, err := cli.DistributionInspect(ctx, ref, client.DistributionInspectOptions{EncodedRegistryAuth: auth})
	if err != nil {
		return "", err
	}
	return res.Descriptor.Digest.String(), nil
}

func isNotFound(err error) bool {
	return cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "manifest unknown")
}

// pushLine renders one push progress message ("" for noise).
func pushLine(id, status string, p *jsonstream.Progress) string {
	if status == "" {
		return ""
	}
	s := status
	if id != "" {
		s = id + ": " + status
	}
	if p != nil && p.Total > 0 {
		s += fmt.Sprintf(" %d%%", p.Current*100/p.Total)
	}
	return s
}
