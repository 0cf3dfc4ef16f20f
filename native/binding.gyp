{
  "targets": [
    {
      "target_name": "vrrp_socket",
      "sources": [
        "vrrp_socket.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    },
    {
      "target_name": "gratuitous_arp",
      "sources": [
        "gratuitous_arp.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    },
    {
      "target_name": "address_lifetime",
      "sources": [
        "address_lifetime.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    },
    {
      "target_name": "address_monitor",
      "sources": [
        "address_monitor.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    },
    {
      "target_name": "pulse_beat",
      "sources": [
        "pulse_beat.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "libraries": [
        "-lpthread"
      ]
    },
    {
      "target_name": "nft_fence",
      "sources": [
        "nft_fence.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "libraries": [
        "-lnftables"
      ]
    },
    {
      "target_name": "vigil-deadman",
      "type": "executable",
      "sources": [
        "deadman.c"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    }
  ]
}
