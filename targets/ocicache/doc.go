// Package ocicache keeps images and their BuildKit cache metadata as one
// OCI image layout in the user's cache folder, and serves it to the
// engine through a registry on the loopback interface, so that every
// engine (classic or containerd image store) imports build cache and
// pulls missing images the same way, moving only the blobs it lacks.
package ocicache
