// Package dockerfile finds the images a Dockerfile's FROM lines name, as the builder resolves them.
package dockerfile
