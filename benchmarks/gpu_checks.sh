#!/usr/bin/env bash
# The checks of the suite that need the GPU machine, in one go. `gpu` (at most 9.5 minutes: the sum of the limits below):
#   1. the CUDA-only tests (tests/benchmark/test_cuda.py: fp32/bf16/fp16 training, the fp16 gradient penalty,
#      overflow back-off, a CUDA checkpoint resumed on the CPU, GPU against CPU encoding);
#   2. QLAE training steps per second, both architectures, fp32 and bf16 (benchmarks/train_speed.py);
#   3. one `paper` QLAE job shortened to 1,500 steps and projected to 200k (benchmarks/paper_run.py);
#   4. one `paper` QL-InfoWGAN-GP job shortened to 400 steps, in bf16 and in fp32 (is bf16 fit for the penalty?);
#   5. the noisy-label suite's steps on the paper backbones (ResNet-18 at 224, batch 448; VGG-19-BN at 64; CIFAR
#      ResNet-34) against a bare PyTorch loop (benchmarks/noisy_train_speed.py --paper);
#   6. StyleGAN2 training images/s at 32 and 64 px, small and full width, of the latent-semantics generator
#      against a per-sample-convolution baseline (benchmarks/stylegan_speed.py --paper).
# `cpu` (at most 6.5 minutes), how the CPU side scales on that machine's cores:
#   7. the evaluation panel of one model at 1, 4 and 16 threads (benchmarks/eval_speed.py --no-recipes);
#   8. the MI kernels at 1, 4 and 16 threads (benchmarks/mi_speed.py, shortened sizes);
#   9. Clothing1M-layout JPEG loading with 8 workers (benchmarks/noisy_loader_speed.py).
# Each step has its own time limit, so that a slow one does not take the others' time; each writes its output
# to a file of the folder given (default ./gpu-checks), with the seconds since the start in stages.txt.
#
#   bash benchmarks/gpu_checks.sh [OUT_DIR] [gpu|cpu|all]    # default all
set -u
cd "$(dirname "$0")/.."
out=${1:-gpu-checks}
what=${2:-all}
case "$what" in gpu|cpu|all) ;; *) echo "error: the second argument must be gpu, cpu or all; got '$what'." >&2; exit 2;; esac
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # also without pip install
python=$(command -v python3 || command -v python)  # GPU images often have python3 only
start=$(date +%s)
stage() { echo "[$(( $(date +%s) - start )) s] $*" | tee -a "$out/stages.txt"; }

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$python" -c "import torch, numba, numpy, sklearn; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
'GPU', torch.cuda.get_device_name() if torch.cuda.is_available() else None, 'numpy', numpy.__version__,
'numba', numba.__version__, 'scikit-learn', sklearn.__version__)"; } 2>&1 | tee "$out/environment.txt"
if [ "$what" != cpu ]; then
    if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "error: torch sees no CUDA GPU here; these checks need one (the CPU ones are the test suite's)." >&2
        exit 1
    fi
    stage "CUDA tests"
    timeout 90 "$python" -m pytest -q -p no:cacheprovider -rs tests/benchmark/test_cuda.py 2>&1 | tee "$out/test_cuda.txt" | tail -30
    stage "train_speed"
    timeout 80 "$python" benchmarks/train_speed.py --device cuda 2>&1 | tee "$out/train_speed.txt"
    stage "paper_run qlae"
    timeout 110 "$python" benchmarks/paper_run.py --device cuda --steps 1500 2>&1 | tee "$out/paper_run_qlae.txt"
    for precision in bf16 fp32; do
        stage "paper_run ql_infowgan_gp $precision"
        timeout 80 "$python" benchmarks/paper_run.py --device cuda --model ql_infowgan_gp --steps 400 \
            --precision "$precision" 2>&1 | tee "$out/paper_run_gan_$precision.txt"
    done
    stage "noisy_train_speed --paper"
    timeout 80 "$python" benchmarks/noisy_train_speed.py --device cuda --paper --steps 10 2>&1 \
        | tee "$out/noisy_train_speed.txt"
    stage "stylegan_speed --paper"
    timeout 50 "$python" benchmarks/stylegan_speed.py --device cuda --paper 2>&1 | tee "$out/stylegan_speed.txt"
fi
if [ "$what" != gpu ]; then
    cores=$(nproc)
    threads=$(printf '%s\n' 1 4 16 | awk -v c="$cores" '$1 <= c' | tr '\n' ' ')
    stage "eval_speed, numba threads $threads"
    timeout 120 "$python" benchmarks/eval_speed.py --no-recipes --threads $threads 2>&1 | tee "$out/eval_speed_threads.txt"
    for t in $threads; do
        stage "mi_speed, $t numba threads"
        NUMBA_NUM_THREADS=$t timeout 60 "$python" benchmarks/mi_speed.py --sizes 1e6 --knn-sizes 1e4 --repeats 3 \
            2>&1 | tee "$out/mi_speed_threads_$t.txt"
    done
    stage "noisy_loader_speed, 8 workers"
    timeout 90 "$python" benchmarks/noisy_loader_speed.py --workers 8 --images 1200 2>&1 | tee "$out/noisy_loader_speed.txt"
fi
stage "done"
