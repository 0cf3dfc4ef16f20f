#!/bin/bash
# The fence's dead man's switch for one VIP group: removes the group's addresses at a
# deadline the fence keeps pushing forward, and does so even after the fence died (it
# does not die with it). The kernel's address lifetime remains the last line of defence
# if this process is killed too; this one is exact to a few ms, where the kernel rounds
# the end of a lifetime up by as much as a quarter of a second, so the fence can record
# when its addresses will really be gone.
#
# stdin, one command a line:
#   arm <unix ms> <ip line>[;<ip line>...]   at that time, run these iproute2 lines
#   disarm                                    nothing to do
# At the end of stdin (the fence stopped or died) an armed removal still happens on time,
# then this exits.
set -u
export LC_ALL=C

# ip is started at the first arm, not at once: the fence raises this process's priority
# right after starting it, and ip inherits it only if it is started after that.
started=0
start_ip() {
  coproc IPB { exec ip -force -batch -; }
  started=1
}

deadline=0
lines=""
eof=0

now() {
  local t=$EPOCHREALTIME
  NOW=$(( ${t%.*} * 1000 + 10#${t#*.} / 1000 ))
}

fire() {
  if [ -n "$lines" ]; then printf '%s\n' "${lines//;/$'\n'}" >&"${IPB[1]}"; fi
  deadline=0
  lines=""
}

handle() {
  case "$1" in
    "arm "*)
      (( started )) || start_ip
      local rest=${1#arm }
      deadline=${rest%% *}
      lines=${rest#* }
      ;;
    disarm) deadline=0; lines="" ;;
  esac
}

while :; do
  if (( deadline > 0 )); then
    now
    rem=$(( deadline - NOW ))
    if (( rem <= 0 )); then
      fire
      (( eof )) && break
      continue
    fi
    printf -v wait_for '%d.%03d' $(( rem / 1000 )) $(( rem % 1000 )) # (not $(...): a fork at every wake)
    if (( eof )); then
      sleep "$wait_for"
      continue
    fi
    if IFS= read -r -t "$wait_for" cmd; then
      handle "$cmd"
    elif (( $? <= 128 )); then
      eof=1
    fi
  else
    (( eof )) && break
    if IFS= read -r cmd; then handle "$cmd"; else eof=1; fi
  fi
done
if (( started )); then exec {IPB[1]}>&-; fi
wait
