package targets

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
)

// TestPulledImageTakesOnlyCheckedIDs: a pull for a deploy, whose source
// was checked (ServedIDs), accepts only the IDs that check returned, not
// whatever manifest the reference names; other pulls keep accepting the
// manifest's digest, as a containerd-store engine names the image by it.
func TestPulledImageTakesOnlyCheckedIDs(t *testing.T) {
	id, m, cfg := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("2", 64), "sha256:"+strings.Repeat("3", 64)
	src := "127.0.0.1:5000/r@" + m
	for _, c := range []struct {
		have string
		also []string
		want bool
	}{
		{id, nil, true},
		{m, nil, true},
		{cfg, nil, false},
		{m, []string{m, cfg}, true},
		{cfg, []string{m, cfg}, true},
		{m, []string{cfg}, false},
		{"sha256:" + strings.Repeat("4", 64), []string{m, cfg}, false},
	} {
		if got := pulledImage(c.have, id, src, c.also); got != c.want {
			t.Errorf("pulledImage(%s, also %v) = %v, want %v", c.have[7:8], c.also, got, c.want)
		}
	}
}

// TestConfigContentReadsAsEnginesReport: an image config compares with
// what an engine reports of the same image (ImageContent), and a changed
// command or layer makes it differ.
func TestConfigContentReadsAsEnginesReport(t *testing.T) {
	raw := `{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["httpd"],"Labels":null,"Volumes":{}},` +
		`"rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]},"history":[{"created_by":"x"}]}`
	got, err := configContent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	var res image.InspectResponse
	if err := json.Unmarshal([]byte(`{"Architecture":"amd64","Os":"linux","RootFS":{"Type":"layers","Layers":["sha256:aa","sha256:bb"]},`+
		`"Config":{"Hostname":"","Env":["PATH=/bin"],"Cmd":["httpd"],"Labels":{},"Volumes":null,"OnBuild":null}}`), &res); err != nil {
		t.Fatal(err)
	}
	want, _ := content(res.RootFS.Layers, res.Os, res.Architecture, res.Variant, res.Config)
	if string(got) != string(want) {
		t.Errorf("from the config:\n%s\nfrom the engine:\n%s", got, want)
	}
	for _, other := range []string{strings.Replace(raw, `"httpd"`, `"sh"`, 1), strings.Replace(raw, `sha256:bb`, `sha256:cc`, 1)} {
		if o, _ := configContent([]byte(other)); string(o) == string(want) {
			t.Errorf("%s reads as the same image", other)
		}
	}
}
