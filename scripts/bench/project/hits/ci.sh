#!/bin/sh
# hits' hand-written CI job, as it was before dtask: restore the image
# cache, start MariaDB and the Redis built from cache/ (what compose.yaml
# describes, with docker run: the CI machine has no compose plugin),
# build the test and app images with the restored images as build cache,
# run the tests, push the app image as branch-sha, replace the staging
# container, save the image cache.
#   APP (hits), REGISTRY (127.0.0.1:5000), STAGING_PORT (8081),
#   CACHE (the folder CI saves and restores; .ci-cache)
set -eu
APP="${APP:-hits}" REGISTRY="${REGISTRY:-127.0.0.1:5000}"
STAGING_PORT="${STAGING_PORT:-8081}" CACHE="${CACHE:-.ci-cache}"
BRANCH="$(git rev-parse --abbrev-ref HEAD)" SHA="$(git rev-parse --short=7 HEAD)"
TAG="$BRANCH-$SHA" NET="$APP-ci-$SHA"

mkdir -p "$CACHE"
if [ -f "$CACHE/images.tar" ]; then docker load -q -i "$CACHE/images.tar"; fi

cleanup() { docker rm -f "$APP-db-$SHA" "$APP-cache-$SHA" >/dev/null 2>&1 || true; docker network rm "$NET" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker network create "$NET" >/dev/null
docker run -d --name "$APP-db-$SHA" --network "$NET" --network-alias db --env-file ci.env \
  -v "$PWD/db:/docker-entrypoint-initdb.d:ro" mariadb:10.11 >/dev/null

# BUILDKIT_INLINE_CACHE: the saved images carry the metadata that makes
# them usable with --cache-from on the next (fresh) machine.
docker build -q --build-arg BUILDKIT_INLINE_CACHE=1 --build-arg MAXMEM=64mb \
  --cache-from "$APP-cache:cache" -t "$APP-cache:dev" cache >/dev/null
docker run -d --name "$APP-cache-$SHA" --network "$NET" --network-alias cache "$APP-cache:dev" >/dev/null
docker build -q --target test --build-arg BUILDKIT_INLINE_CACHE=1 \
  --cache-from "$APP:test-cache" -t "$APP:test-$TAG" . >/dev/null
docker build -q --build-arg BUILDKIT_INLINE_CACHE=1 --build-arg "APP_VERSION=$TAG" \
  --cache-from "$APP:test-cache" --cache-from "$APP:cache" -t "$APP:$TAG" . >/dev/null

until docker exec "$APP-db-$SHA" mariadb-admin ping -h 127.0.0.1 >/dev/null 2>&1; do sleep 0.25; done
until docker exec "$APP-cache-$SHA" redis-cli ping >/dev/null 2>&1; do sleep 0.25; done
docker run --rm --network "$NET" -e DB_HOST=db -e REDIS_HOST=cache -e APP_VERSION=dev "$APP:test-$TAG"

docker tag "$APP:$TAG" "$REGISTRY/$APP:$TAG"
docker push -q "$REGISTRY/$APP:$TAG" >/dev/null

docker rm -f "$APP-staging" >/dev/null 2>&1 || true
docker run -d --name "$APP-staging" -p "127.0.0.1:$STAGING_PORT:8000" "$REGISTRY/$APP:$TAG" >/dev/null
i=0
until curl -sf "http://127.0.0.1:$STAGING_PORT/cgi-bin/health" >/dev/null; do
  i=$((i + 1)); [ "$i" -lt 240 ] || { docker logs "$APP-staging"; exit 1; }; sleep 0.25
done

docker tag "$APP-cache:dev" "$APP-cache:cache"
docker tag "$APP:test-$TAG" "$APP:test-cache"
docker tag "$APP:$TAG" "$APP:cache"
docker save -o "$CACHE/images.tar.new" "$APP-cache:cache" "$APP:test-cache" "$APP:cache"
mv "$CACHE/images.tar.new" "$CACHE/images.tar"
