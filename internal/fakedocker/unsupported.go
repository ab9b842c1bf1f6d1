package fakedocker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/moby/moby/client"
)

// ErrNotFaked is what the calls return whose behaviour is Docker's own
// (building, moving images, exec): tests of those need a real engine.
var ErrNotFaked = errors.New("not faked: test this against a real engine")

func (f *Engine) unsupported(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method); err != nil {
		return err
	}
	return fmt.Errorf("fakedocker %s: %w", method, ErrNotFaked)
}

func (f *Engine) BuildCachePrune(context.Context, client.BuildCachePruneOptions) (client.BuildCachePruneResult, error) {
	return client.BuildCachePruneResult{}, f.unsupported("BuildCachePrune")
}

func (f *Engine) CopyFromContainer(context.Context, string, client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	return client.CopyFromContainerResult{}, f.unsupported("CopyFromContainer")
}

func (f *Engine) DialHijack(context.Context, string, string, map[string][]string) (net.Conn, error) {
	return nil, f.unsupported("DialHijack")
}

func (f *Engine) DistributionInspect(context.Context, string, client.DistributionInspectOptions) (client.DistributionInspectResult, error) {
	return client.DistributionInspectResult{}, f.unsupported("DistributionInspect")
}

func (f *Engine) ExecAttach(context.Context, string, client.ExecAttachOptions) (client.ExecAttachResult, error) {
	return client.ExecAttachResult{}, f.unsupported("ExecAttach")
}

func (f *Engine) ExecCreate(context.Context, string, client.ExecCreateOptions) (client.ExecCreateResult, error) {
	return client.ExecCreateResult{}, f.unsupported("ExecCreate")
}

func (f *Engine) ExecInspect(context.Context, string, client.ExecInspectOptions) (client.ExecInspectResult, error) {
	return client.ExecInspectResult{}, f.unsupported("ExecInspect")
}

func (f *Engine) ImageBuild(context.Context, io.Reader, client.ImageBuildOptions) (client.ImageBuildResult, error) {
	return client.ImageBuildResult{}, f.unsupported("ImageBuild")
}

func (f *Engine) ImageLoad(context.Context, io.Reader, ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	return nil, f.unsupported("ImageLoad")
}

func (f *Engine) ImagePush(context.Context, string, client.ImagePushOptions) (client.ImagePushResponse, error) {
	return nil, f.unsupported("ImagePush")
}

func (f *Engine) ImageSave(context.Context, []string, ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	return nil, f.unsupported("ImageSave")
}

func (f *Engine) CopyToContainer(context.Context, string, client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	return client.CopyToContainerResult{}, f.unsupported("CopyToContainer")
}
