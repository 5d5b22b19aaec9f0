"""Every record says which CPU computed it (values are deterministic per CPU kind and library build)."""

import torch

from benchmark.environment import cpu_info, environment

AVX2_EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse4_2 avx fma f16c avx2 bmi2
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme sse4_2 avx fma f16c avx2 bmi2
"""


def test_cpu_info_names_the_model_and_the_vector_instruction_sets():
    info = cpu_info(AVX2_EPYC)
    assert info["model"] == "AMD EPYC 7B13"
    assert info["isa"] == ["sse4_2", "avx", "avx2", "fma", "f16c"]  # no AVX-512: the slower kernels
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_the_records_environment_carries_the_cpu_and_is_json():
    import json

    env = environment()
    assert set(env["cpu"]) == {"model", "isa", "cpu_capability"} and isinstance(env["cpu"]["isa"], list)
    assert json.loads(json.dumps(env)) == env
