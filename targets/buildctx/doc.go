// Package buildctx lists and streams a build context exactly as the docker CLI sends it.
package buildctx
