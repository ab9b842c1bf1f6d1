// Package push implements push targets: tagging an image and pushing the
// tags the registry does not hold yet.
package push
