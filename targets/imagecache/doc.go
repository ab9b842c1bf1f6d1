// Package imagecache keeps docker-save archives of images in the state
// folder, so that a CI job restoring that folder loads what it needs
// instead of rebuilding or pulling it.
//
// An archive is stored split: entries/<id>.json holds the archive's tar
// listing and its small members (manifest.json, configs), and every large
// member (a layer) lives once in blobs/<sha256>[.zst], shared by all the
// images that contain it. Loading streams the archive back together.
package imagecache
