// Package build implements build targets: the build context as the docker
// CLI sends it, BuildKit or the classic builder, and the image cache's and
// team cache's parts in a build.
package build
