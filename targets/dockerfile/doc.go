// Package dockerfile reads what a build's key needs from a Dockerfile: the images its FROM lines name, as the builder resolves them, and whether a step can read a path of the context.
package dockerfile
