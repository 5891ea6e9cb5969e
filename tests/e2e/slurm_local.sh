#!/usr/bin/env bash
# A real single-node SLURM (munged, slurmctld, slurmd) in folder $1, for the length of the command that
# follows; every daemon is stopped by its PID at the end. Run it inside `unshare -n` (a network namespace
# with only loopback): SLURM's daemons bind all addresses, so the namespace is what keeps them private.
set -u
dir="$1"; shift
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
node="$(hostname -s)"
cat > "$dir/slurm.conf" <<CONF
ClusterName=sentgrid
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmUser=$(id -un)
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 RealMemory=4096 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
running() {  # a PID that is alive and not a zombie waiting to be reaped
  [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
stop() {
  # a job still running (a test that ended early) is cancelled first: its slurmstepd would outlive slurmd
  if [ -f "$dir/slurmctld.pid" ] && running "$(cat "$dir/slurmctld.pid")"; then
    scancel --full --user="$(id -un)" 2>/dev/null
    for _ in $(seq 40); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  local pids=()
  for daemon in slurmd slurmctld munged; do
    [ -f "$dir/$daemon.pid" ] && pids+=("$(cat "$dir/$daemon.pid")")
  done
  [ ${#pids[@]} -eq 0 ] && return
  kill "${pids[@]}" 2>/dev/null
  # slurmctld saves its state before it exits: seconds on a loaded machine, so wait for every PID to go
  for _ in $(seq 60); do
    alive=(); for pid in "${pids[@]}"; do running "$pid" && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && return
    sleep 0.5
  done
  echo "slurm-local: ${alive[*]} still running after 30 s, killed"
  kill -9 "${alive[@]}" 2>/dev/null
}
trap stop EXIT
ip link set lo up
# glibc's getaddrinfo (AI_ADDRCONFIG) resolves nothing where loopback is the only interface: an address
# that is not 127.x on the same interface (it routes nowhere) makes 127.0.0.1 resolvable in the namespace.
ip addr add 10.254.254.1/32 dev lo
munged --socket="$dir/munge.sock" --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munge.seed" --key-file=/etc/munge/munge.key -f || { echo "slurm-local: munged failed"; exit 97; }
slurmctld -i || { echo "slurm-local: slurmctld failed"; exit 97; }
slurmd || { echo "slurm-local: slurmd failed"; exit 97; }
for _ in $(seq 30); do timeout 5 sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
timeout 5 sinfo -h -o %T | grep -q idle || { echo "slurm-local: the node did not come up"; tail -n 5 "$dir"/log/*.log; exit 97; }
"$@"
