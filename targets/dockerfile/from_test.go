package dockerfile

import (
	"slices"
	"testing"
)

func TestBases(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG BASE=busy
ARG TAG=latest
ARG IMG=${BASE}box:${TAG}
ARG UNSET
FROM --platform=$BUILDPLATFORM ${IMG} AS Builder
RUN echo hi
FROM builder AS test
FROM scratch
COPY --from=builder / /
FROM debian:${TAG:-x} \
   AS final
FROM redis:7 AS after
`
	cases := []struct {
		args   map[string]string
		target string
		want   []string
	}{
		{nil, "", []string{"busybox:latest", "debian:latest", "redis:7"}},
		{map[string]string{"TAG": "1.36"}, "", []string{"busybox:1.36", "debian:1.36", "redis:7"}},
		{map[string]string{"IMG": "alpine"}, "final", []string{"alpine", "debian:latest"}},
		{nil, "test", []string{"busybox:latest"}},
	}
	for _, c := range cases {
		got, err := Bases([]byte(src), c.args, c.target, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("args %v target %q: got %v want %v", c.args, c.target, got, c.want)
		}
	}
}

func TestBasesPlatformAndEscape(t *testing.T) {
	src := "# escape=`\nFROM img-${TARGETARCH} `\n  AS a\nFROM a\n"
	got, err := Bases([]byte(src), nil, "", "linux/arm64")
	if err != nil || !slices.Equal(got, []string{"img-arm64"}) {
		t.Errorf("got %v %v", got, err)
	}
}

func TestBasesErrors(t *testing.T) {
	if _, err := Bases([]byte("RUN x\n"), nil, "", ""); err == nil {
		t.Error("no FROM: want an error")
	}
	if _, err := Bases([]byte("ARG X\nFROM ${X}\n"), nil, "", ""); err == nil {
		t.Error("empty base: want an error")
	}
}
