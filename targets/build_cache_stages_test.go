package targets

import (
	"slices"
	"testing"
)

func TestCacheStages(t *testing.T) {
	src := []byte(`FROM busybox AS tools
RUN echo tools
FROM busybox AS deps
RUN --mount=type=bind,from=tools,target=/t echo deps
FROM busybox AS unused
RUN echo nobody copies me
FROM deps AS build
COPY --from=1 /x /x
FROM busybox AS test
COPY --from=build /x /x
FROM busybox
COPY --from=build /x /x
`)
	cases := map[string][]string{
		"":      {"tools", "deps", "build"}, // the final image, through FROM, COPY --from and RUN --mount
		"build": {"tools", "deps"},          // target stops at build
		"tools": nil,
	}
	for target, want := range cases {
		got, err := cacheStages(src, target)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("target %q: stages %v, want %v", target, got, want)
		}
	}
}

func TestCacheRefNames(t *testing.T) {
	for in, want := range map[string]string{"My App": "my-app", "web_1": "web-1", "..": "x", "API": "api"} {
		if got := repoPart(in); got != want {
			t.Errorf("repoPart(%q) = %q, want %q", in, got, want)
		}
	}
}
