// Package registryauth finds registry credentials the way `docker push` does: from the Docker config file and its credential helpers.
package registryauth
