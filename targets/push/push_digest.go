package push

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/api/types/registry"

	"github.com/dtask-dev/dtask/targets/registryauth"
)

// registryDigest asks the registry itself for the manifest digest ref
// points at, with the credentials the push used. Engines with the
// containerd image store send no digest message in the push stream, so
// this is where a push learns what it pushed there.
func registryDigest(ctx context.Context, ref string, ac registry.AuthConfig) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("tag %q: %w", ref, err)
	}
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithAuth(registryauth.Authenticator(ac)))
	if err != nil {
		return "", fmt.Errorf("asking the registry for %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}
