package imagecache

import "github.com/moby/moby/api/types/system"

// Image stores an engine keeps images in.
const (
	StoreClassic    = "classic"    // graph drivers (overlay2, ...): Docker up to 28 by default
	StoreContainerd = "containerd" // the containerd snapshotter store: Docker 29's default
)

// DetectStore tells the image store from docker info: the containerd
// store reports driver-type io.containerd.snapshotter.v1 in DriverStatus.
func DetectStore(info system.Info) string {
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			return StoreContainerd
		}
	}
	return StoreClassic
}

// Builder is how a build uses the images loaded from the cache.
type Builder struct {
	BuildKit   bool // build with BuildKit (else the classic builder)
	Inline     bool // ask BuildKit for inline cache metadata (BUILDKIT_INLINE_CACHE=1)
	SkipShared bool // loads may leave out layers the engine has
	Note       string
}

// ChooseBuilder decides how a build uses cached images, given the
// engine's store, the builder the build would otherwise get, whether the
// user forced that builder (builder = "...") and whether the build needs
// BuildKit (secrets, RUN --mount).
//
// With the classic store a loaded image given as cache-from works for
// both builders: BuildKit reads the inline cache metadata in its config,
// the classic builder matches its history. With the containerd store,
// BuildKit does not take a loaded local image's inline cache (it looks
// for the cache in a registry), so the build falls back to the classic
// builder, whose cache-from still matches local images by history; a
// build that must use BuildKit keeps it and only its own cache.
func ChooseBuilder(store string, buildkit, forced, needsBuildKit bool) Builder {
	if store != StoreContainerd {
		b := Builder{BuildKit: buildkit, Inline: buildkit, SkipShared: true}
		if buildkit {
			b.Note = "image cache: classic image store; BuildKit with inline cache metadata, loaded stage images as cache sources"
		} else {
			b.Note = "image cache: classic image store; classic builder with loaded stage images as cache_from"
		}
		return b
	}
	if !buildkit {
		return Builder{Note: "image cache: containerd image store; classic builder with loaded stage images as cache_from"}
	}
	if forced || needsBuildKit {
		return Builder{BuildKit: true, Inline: true, Note: "image cache: containerd image store: BuildKit does not use loaded images as cache there, and this build needs BuildKit; only the engine's own build cache applies"}
	}
	return Builder{Note: "image cache: containerd image store: BuildKit does not use loaded images as cache there; using the classic builder with cache_from"}
}
