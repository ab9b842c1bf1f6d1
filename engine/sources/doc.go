// Package sources answers which files and folders a target reads: the one
// model that its cache key, watch mode and the dry run's reasons all use.
package sources
