package run

import (
	"context"
	"net/http"
)

// HTTPOK fetches raw from this machine; a status below 400 is ready. It
// is the host-side probe of services (fallback) and of local deploys.
func HTTPOK(ctx context.Context, raw string) (bool, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return false, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, "", err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return false, "HTTP " + resp.Status, nil
	}
	return true, "", nil
}
