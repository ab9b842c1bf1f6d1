// Package remotecache keeps success records and the images they name in an
// OCI registry, so that what one machine built and tested every other
// machine reuses; it tiers that team cache behind the local record store.
package remotecache
