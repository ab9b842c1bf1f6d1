package run

import (
	"context"
	"fmt"
	"os"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// saveImage keeps a started service's image, one the engine lacked when
// the run needed it, in the image cache, in the background while the
// target runs: in the OCI layout when the run keeps one (FinishSaves ends
// that save), else in the older archives (Close waits for it, so it is
// done before dtask exits). An image already saved (by ID) only gets its
// name recorded.
func (p *ServicePool) saveImage(ctx context.Context, cli *docker.Client, ref string, progress func(string)) {
	if p.e.Images == nil {
		return
	}
	id, err := targets.ImageID(ctx, cli, ref)
	if err != nil || id == "" || p.e.SaveRef(cli, ref, id) {
		return
	}
	p.saving.Add(1)
	go func() {
		defer p.saving.Done()
		p.e.CacheImage(ctx, cli, id, imagecache.Info{Refs: []string{ref}, Kind: imagecache.KindService}, progress,
			func(msg string) { fmt.Fprintln(os.Stderr, msg) })
	}()
}
