{
  "targets": [
    {
      "target_name": "vrrp_socket",
      "sources": ["vrrp_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
