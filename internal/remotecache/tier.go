package remotecache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/internal/transfer"
)

// Local is the record store on this machine.
type Local interface {
	Get(key string) (*cache.Record, bool)
	Hit(key string) (*cache.Record, bool)
	Put(rec *cache.Record) error
	Last(target string) (*cache.Record, bool)
	Why(target string, cur *cache.Key) ([]string, bool)
}

// ImageSaver writes one of the engine's images as a docker-save archive.
// dtask, not the engine, compresses and pushes the layers: the same layer
// then has the same blob digest on every machine, so the registry never
// receives it twice (an engine recompresses layers it pulled, differently).
type ImageSaver interface {
	SaveImage(ctx context.Context, id string, w io.Writer) error
}

// OriginRemote is what a record found in the team cache says in From.
const OriginRemote = "remote cache"

// Tier is the record store a run uses: the local store first, then the
// team cache; successes are written locally at once and published to the
// team cache in the background (Wait waits for that).
type Tier struct {
	local  Local
	reg    *Registry
	mode   Mode
	pusher ImageSaver
	warn   func(string) // prints one line: a warning or a transfer's summary
	ctx    context.Context
	// KeepHits copies remote hits into the local store (not in a dry run).
	KeepHits bool
	// Timeout bounds one lookup.
	Timeout time.Duration

	mu      sync.Mutex
	down    bool              // a fault: the rest of the run goes without the team cache
	images  map[string]string // image ID -> manifest digest known in the repository
	failed  int               // publications that failed
	stats   publishStats
	jobs    sync.WaitGroup
	slots   chan struct{}
	started time.Time
}

type publishStats struct {
	records, images int
}

// NewTier tiers reg behind local. ctx bounds every request (the run's);
// warn prints one line; pusher may be nil when no engine is used.
func NewTier(ctx context.Context, local Local, reg *Registry, mode Mode, pusher ImageSaver, warn func(string)) *Tier {
	return &Tier{
		local: local, reg: reg, mode: mode, pusher: pusher, warn: warn, ctx: ctx,
		Timeout: 20 * time.Second,
		images:  map[string]string{},
		slots:   make(chan struct{}, 4),
	}
}

// Registry is the team cache behind the tier.
func (t *Tier) Registry() *Registry { return t.reg }

func (t *Tier) usable() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reg != nil && t.mode != ModeOff && !t.down
}

// fault reports the first failure to reach the registry, once, and turns
// the team cache off for the rest of the run.
func (t *Tier) fault(err error) {
	t.mu.Lock()
	first := !t.down
	t.down = true
	t.mu.Unlock()
	if first && t.ctx.Err() == nil {
		t.warn(fmt.Sprintf("warning: %v; going on without the remote cache", err))
	}
}

// Get returns the record for key: local, else the team cache's, verified.
func (t *Tier) Get(key string) (*cache.Record, bool) {
	if rec, ok := t.local.Get(key); ok {
		return rec, true
	}
	return t.remote(key)
}

// Hit is Get reading a local record without its lines, as the engine
// needs to decide that a target is up to date.
func (t *Tier) Hit(key string) (*cache.Record, bool) {
	if rec, ok := t.local.Hit(key); ok {
		return rec, true
	}
	return t.remote(key)
}

// remote looks key up in the team cache, verified.
func (t *Tier) remote(key string) (*cache.Record, bool) {
	if !t.usable() {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.Timeout)
	defer cancel()
	hit, ok, err := t.reg.GetRecord(ctx, key)
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		t.warn(fmt.Sprintf("warning: %v; not trusted, treated as a miss", err))
		return nil, false
	case err != nil:
		t.fault(err)
		return nil, false
	case !ok:
		return nil, false
	}
	t.remember(hit.Images)
	rec := hit.Record
	if t.KeepHits {
		_ = t.local.Put(rec) // only a speed-up for the next run
	}
	rec.From = OriginRemote
	return rec, true
}

func (t *Tier) remember(images map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, d := range images {
		t.images[id] = d
	}
}

// Last is the local store's latest record of target.
func (t *Tier) Last(target string) (*cache.Record, bool) { return t.local.Last(target) }

// Why explains a miss against the local store's latest record of target.
func (t *Tier) Why(target string, cur *cache.Key) ([]string, bool) { return t.local.Why(target, cur) }

// Put records rec locally and, in readwrite mode, publishes it (after the
// images it names) in the background.
func (t *Tier) Put(rec *cache.Record) error {
	err := t.local.Put(rec)
	if t.mode != ModeReadWrite || !t.usable() {
		return err
	}
	if rec.Lines == nil && rec.Source != nil {
		// The published record carries its lines as JSON. They are built
		// here, not in the background, where the engine may still read
		// the key.
		cp := *rec
		cp.Lines, cp.Source = rec.AllLines(), nil
		rec = &cp
	}
	t.mu.Lock()
	if t.started.IsZero() {
		t.started = time.Now()
	}
	t.mu.Unlock()
	t.background(func() {
		if perr := t.publish(rec); perr != nil {
			t.publishFailed(rec.Target, perr)
		}
	})
	return err
}

func (t *Tier) publishFailed(target string, err error) {
	t.mu.Lock()
	t.failed++
	first := t.failed == 1
	t.mu.Unlock()
	if first && t.ctx.Err() == nil {
		t.warn(fmt.Sprintf("warning: publishing %s: %v", target, err))
	}
}

// publish pushes the images rec names that the repository lacks, then
// the record, so that a record never names an image that is not there.
func (t *Tier) publish(rec *cache.Record) error {
	images := map[string]string{}
	for _, id := range ImagesOf(rec) {
		d, err := t.pushImage(id)
		if err != nil {
			return err
		}
		images[id] = d
	}
	ctx, cancel := context.WithTimeout(t.ctx, 2*time.Minute)
	defer cancel()
	if err := t.reg.PutRecord(ctx, rec, images); err != nil {
		return err
	}
	t.mu.Lock()
	t.stats.records++
	t.mu.Unlock()
	return nil
}

// pushImage makes the repository hold image id and returns its digest there.
func (t *Tier) pushImage(id string) (string, error) {
	if d, ok := t.known(id); ok {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Minute)
	defer cancel()
	tag := ImageTag(id)
	if d, ok, err := t.reg.Head(ctx, tag); err != nil || ok {
		t.remember(map[string]string{id: d})
		return d, err
	}
	if t.pusher == nil {
		return "", fmt.Errorf("image %s: no engine to push it from", id)
	}
	line, err := t.reg.WriteImage(ctx, t.pusher, id, tag)
	if err != nil {
		return "", err
	}
	t.Report(line)
	d, ok, err := t.reg.Head(ctx, tag)
	if err == nil && !ok {
		err = t.reg.wrap(fmt.Errorf("image %s missing right after pushing it", short(id[7:])))
	}
	if err != nil {
		return "", err
	}
	t.remember(map[string]string{id: d})
	t.mu.Lock()
	t.stats.images++
	t.mu.Unlock()
	return d, nil
}

func (t *Tier) known(id string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.images[id]
	return d, ok
}

// ImageRef says where the team cache holds image id, as a reference the
// engine can pull by digest; ok is false when it does not hold it.
func (t *Tier) ImageRef(ctx context.Context, id string) (string, bool) {
	if d, ok := t.known(id); ok {
		return t.reg.DigestRef(d), true
	}
	tag := ImageTag(id)
	if tag == "" || !t.usable() {
		return "", false
	}
	d, ok, err := t.reg.Head(ctx, tag)
	if err != nil {
		t.fault(err)
		return "", false
	}
	if !ok {
		return "", false
	}
	t.remember(map[string]string{id: d})
	return t.reg.DigestRef(d), true
}

// ImageConfig returns the config of the image ref (one ImageRef returned)
// names, and the config's digest, both checked against their digests.
func (t *Tier) ImageConfig(ctx context.Context, ref string) (config string, raw []byte, err error) {
	_, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return "", nil, fmt.Errorf("%s: not a reference by digest", ref)
	}
	return t.reg.ImageConfig(ctx, digest)
}

// background runs a publication beside the run, as many at once as
// t.slots holds, not one upload per finished target; Wait waits for it.
func (t *Tier) background(job func()) {
	t.jobs.Go(func() {
		t.slots <- struct{}{}
		defer func() { <-t.slots }()
		job()
	})
}

// Wait waits for every publication and returns a one-line summary ("" when
// nothing was published).
func (t *Tier) Wait() string {
	t.jobs.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	if s.records == 0 && t.failed == 0 {
		return ""
	}
	msg := fmt.Sprintf("remote cache %s: published %d record(s), %d new image(s), %s sent in %s",
		t.reg.Name(), s.records, s.images, transfer.Size(t.reg.Sent()), time.Since(t.started).Round(100*time.Millisecond))
	if t.failed > 0 {
		msg += fmt.Sprintf("; %d not published", t.failed)
	}
	return msg
}

// Report prints the summary line of a transfer ("" says nothing): one
// line in every output, terminal, plain or CI.
func (t *Tier) Report(line string) {
	if line != "" && t.ctx.Err() == nil {
		t.warn(line)
	}
}

// CacheFrom returns references to the images of target's newest record in
// the team cache and to the newest images of its named stages, as build
// cache sources (their inline cache metadata lets the builder reuse
// unchanged steps, and the layers they made, from the registry).
func (t *Tier) CacheFrom(ctx context.Context, target string, stages []string) []string {
	if !t.usable() {
		return nil
	}
	var refs []string
	for _, s := range stages {
		if _, ok, err := t.reg.Head(ctx, StageTag(target, s)); err == nil && ok {
			refs = append(refs, t.reg.Ref(StageTag(target, s)))
		}
	}
	return append(refs, t.lastImages(ctx, target)...)
}

// lastImages are the images of target's newest record in the team cache.
func (t *Tier) lastImages(ctx context.Context, target string) []string {
	hit, ok, err := t.reg.Latest(ctx, target)
	if err != nil {
		t.fault(err)
		return nil
	}
	if !ok {
		return nil
	}
	var refs []string
	for _, id := range ImagesOf(hit.Record) {
		if _, there := hit.Images[id]; there {
			refs = append(refs, t.reg.Ref(ImageTag(id)))
		}
	}
	return refs
}

// EnsureImage makes the team cache hold image id, pushing it from this
// machine's engine if it lacks it (readwrite mode only), and returns a
// reference any engine can pull by digest.
func (t *Tier) EnsureImage(ctx context.Context, id string) (string, error) {
	if ref, ok := t.ImageRef(ctx, id); ok {
		return ref, nil
	}
	if t.mode != ModeReadWrite || !t.usable() {
		return "", fmt.Errorf("the remote cache does not hold image %s", id)
	}
	d, err := t.pushImage(id)
	if err != nil {
		return "", err
	}
	return t.reg.DigestRef(d), nil
}

// PublishStage pushes the image of a named stage of target's build as that
// stage's newest, in the background, for the next build anywhere to use as
// cache (readwrite mode only).
func (t *Tier) PublishStage(target, stage, id string) {
	if t.mode != ModeReadWrite || !t.usable() || t.pusher == nil {
		return
	}
	t.background(func() {
		ctx, cancel := context.WithTimeout(t.ctx, 30*time.Minute)
		defer cancel()
		line, err := t.reg.WriteImage(ctx, t.pusher, id, StageTag(target, stage))
		if err != nil {
			t.publishFailed(target, fmt.Errorf("stage %s: %w", stage, err))
		}
		t.Report(line)
	})
}
