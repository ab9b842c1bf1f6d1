package targets

import (
	"context"
	"maps"
	"sync"

	"github.com/dtask-dev/dtask/targets/docker"
)

// On the classic image store a save is a docker save, which exports every
// layer of the images it names, those the layout has already too. Two
// build targets of one Dockerfile (a test image and an app image) share
// their dependency stage and end together: each save exported the large
// shared layer again, and did it while the other build was still exporting
// to the image store. On Docker 20.10 over fuse-overlayfs with 2 cores the
// builds of a cold CI run took 35-46 s where the same two builds one after
// the other take 27 s, and the wait at exit for the saves was 11-17 s
// where the hand-written recipe's one docker save of both images takes 8 s.
// So on that store saves wait while builds run, and the saves waiting then
// go as one docker save, which exports a shared layer once.

// saveBatch holds the classic store's saves until no build runs.
type saveBatch struct {
	mu      sync.Mutex
	busy    int  // builds, and saves building their stages, running
	running bool // a docker save is under way
	queue   []*saveReq
	// export writes tags (tag -> image ID) into the layout in one docker
	// save; nil means Env.exportLayers (tests put a fake here).
	export func(ctx context.Context, cli *docker.Client, tags map[string]string) error
}

// saveReq is one save waiting for its batch.
type saveReq struct {
	cli  *docker.Client
	tags map[string]string
	done chan error
}

// Busy marks work that a save is not to compete with, a build or the
// stage builds a save makes first, until the func it returns is called.
func (e *Env) Busy() (done func()) {
	b := &e.layerRun().batch
	b.mu.Lock()
	b.busy++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.busy--
			b.mu.Unlock()
			e.flushSaves()
		})
	}
}

// batchSave queues tags for the next docker save, calls queued, and
// waits for the save.
func (e *Env) batchSave(ctx context.Context, cli *docker.Client, tags map[string]string, queued func()) error {
	req := &saveReq{cli: cli, tags: tags, done: make(chan error, 1)}
	b := &e.layerRun().batch
	b.mu.Lock()
	b.queue = append(b.queue, req)
	b.mu.Unlock()
	queued()
	e.flushSaves()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushSaves starts a docker save of the queued saves of one engine when
// no build runs and no other save is under way.
func (e *Env) flushSaves() {
	lc := e.layerRun()
	b := &lc.batch
	b.mu.Lock()
	if b.running || b.busy > 0 || len(b.queue) == 0 {
		b.mu.Unlock()
		return
	}
	var batch, rest []*saveReq
	for _, r := range b.queue {
		if r.cli == b.queue[0].cli {
			batch = append(batch, r)
		} else {
			rest = append(rest, r)
		}
	}
	b.queue, b.running = rest, true
	export := b.export
	b.mu.Unlock()
	if export == nil {
		export = e.exportLayers
	}
	go func() {
		runBatch(lc.ctx, batch, export)
		b.mu.Lock()
		b.running = false
		b.mu.Unlock()
		e.flushSaves()
	}()
}

// runBatch exports the batch's images in one docker save. When that
// fails, each save goes on its own, so that one image gone from the
// engine costs only the save that named it.
func runBatch(ctx context.Context, batch []*saveReq, export func(context.Context, *docker.Client, map[string]string) error) {
	tags := map[string]string{}
	for _, r := range batch {
		maps.Copy(tags, r.tags)
	}
	err := export(ctx, batch[0].cli, tags)
	if err != nil && len(batch) > 1 && ctx.Err() == nil {
		for _, r := range batch {
			r.done <- export(ctx, r.cli, r.tags)
		}
		return
	}
	for _, r := range batch {
		r.done <- err
	}
}
