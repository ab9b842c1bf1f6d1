package registryauth

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/registry"
)

// ForHost returns the credentials the Docker config holds for host.
func ForHost(ctx context.Context, host string) (registry.AuthConfig, error) {
	cfg, err := Load(ConfigDir())
	if err != nil {
		return registry.AuthConfig{}, err
	}
	return cfg.Lookup(ctx, host)
}

// Authenticator turns the engine's credentials into the registry client's.
func Authenticator(ac registry.AuthConfig) authn.Authenticator {
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	})
}
