package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// minBuildKitAPI is the first API version whose POST /build accepts
// version=2 (BuildKit inside the daemon, Docker 18.09).
const minBuildKitAPI = "1.39"

// HasBuildKit reports whether POST /build with version=2 will use BuildKit.
//
// The ping's Builder-Version header is only the daemon's default builder
// for clients that do not choose ("1" on Docker 20.10 even though BuildKit
// is built in), so it cannot answer this. Every Linux engine since API
// 1.39 runs BuildKit for version=2 requests, with a tar context and no
// session; Windows engines never do.
func (c *Client) HasBuildKit(ctx context.Context) (bool, error) {
	ping, err := c.Ping(ctx, client.PingOptions{})
	if err != nil {
		return false, err
	}
	if ping.OSType != "" && ping.OSType != "linux" {
		return false, nil
	}
	return versionAtLeast(c.ClientVersion(), minBuildKitAPI), nil
}

// ImageID returns the ID of the local image ref, or "" when the engine has
// no such image.
func (c *Client) ImageID(ctx context.Context, ref string) (string, error) {
	res, err := c.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return res.ID, nil
}

// versionAtLeast compares dotted API versions numerically.
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range max(len(h), len(w)) {
		var a, b int
		if i < len(h) {
			a, _ = strconv.Atoi(h[i])
		}
		if i < len(w) {
			b, _ = strconv.Atoi(w[i])
		}
		if a != b {
			return a > b
		}
	}
	return true
}
