# For node-gyp users only: `npx node-gyp rebuild --nodedir=/usr` (point --nodedir
# at headers already on the machine; without it node-gyp downloads them).
# `npm install` does not use this file: scripts/build-native.mjs calls cc directly.
{
  "targets": [
    {
      "target_name": "skydns_udp",
      "sources": ["src/addon.c", "src/addr.c", "src/lifetime.c", "src/queue.c", "src/recv.c", "src/sock.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
