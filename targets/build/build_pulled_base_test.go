package build

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// A FROM image the engine lacked at the start of the run is carried when
// the build left it in the engine's image store, and a fresh engine gets
// it from the image cache: the registry no longer has it. The classic
// builder pulls it into the store (saved in the archives); BuildKit, on
// the classic and the containerd store of Docker 20.10 and 28 alike,
// keeps a base it pulled to itself, and then there is nothing to save.
func TestImageCacheCarriesPulledBase(t *testing.T) {
	for _, builder := range []string{"buildkit", "classic"} {
		t.Run(builder, func(t *testing.T) { testCarriesPulledBase(t, builder) })
	}
}

func testCarriesPulledBase(t *testing.T, builder string) {
	p := newICProject(t, builder)
	if builder == "buildkit" {
		p.layout = filepath.Join(t.TempDir(), "layout")
	}
	img := "img" + p.tok
	from := icRegistry + "/dtask-test/icfrom-" + p.tok + ":1"
	p.created[from] = true
	buildClassic(t, from, "FROM "+p.base+"\nLABEL dtask.test.from="+p.tok+"\n")
	pushAway(t, p, from)
	df := filepath.Join(p.file.Dir, "Dockerfile")
	src, _ := os.ReadFile(df)
	os.WriteFile(df, []byte(strings.ReplaceAll(string(src), p.base, from)), 0o644)

	if rep := p.run(); rep.res[img].Status != engine.Ran {
		t.Fatalf("first run: %v", rep.res[img].Status)
	}
	saved := slices.ContainsFunc(p.entries(), func(e imagecache.Entry) bool { return slices.Contains(e.Refs, from) })
	if p.layout != "" {
		_, saved = ocicache.Open(p.layout, nil).Resolve(testBaseTag(img, from))
	}
	if pulled := p.has(from); saved != pulled {
		t.Fatalf("base saved: %v; want %v, as the engine has the pulled base", saved, pulled)
	}
	if !saved {
		t.Logf("the build left the pulled base out of the image store: nothing to carry")
		return
	}
	if err := dropFromRegistry(from); err != nil {
		t.Fatal(err)
	}
	p.freshEngine()
	os.WriteFile(filepath.Join(p.file.Dir, "app.txt"), []byte("two\n"), 0o644)
	rep := p.run()
	if rep.res[img].Status != engine.Ran || !strings.Contains(rep.out.String(), "two\ndeps-"+p.tok) {
		t.Fatalf("fresh engine: %v (%s)\n%s", rep.res[img].Status, rep.res[img].Reason, rep.out.String())
	}
	if !p.has(from) {
		t.Errorf("the base %s was not restored from the image cache", from)
	}
}
