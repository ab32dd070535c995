"""Build script for clusterstruct's compiled kernels.

Metadata lives in ``pyproject.toml``; this file only describes the Cython
extension and how it is compiled:

* OpenMP (``-fopenmp`` on the compile *and* link line) when the compiler
  accepts it; otherwise the kernels build serial.  ``CLUSTERSTRUCT_NO_OPENMP=1``
  forces a serial build.
* ``-O3 -ffast-math`` on the compile line only (never the link line: linking
  with it would flush denormals to zero for the whole Python process).  It lets
  gcc vectorise ``sin`` through glibc's libmvec, so ``libm`` is linked
  explicitly.
* ``CLUSTERSTRUCT_MARCH=x86-64-v3`` (or ``native``) opts in to wider vector
  instructions; off by default because such a build fails on older CPUs.
"""

import os
import shutil
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiler_accepts(compiler, flags, link_flags):
    """Try to compile and link a tiny OpenMP program with ``flags``."""
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "check_openmp.c")
        with open(path, "w") as fh:
            fh.write(src)
        objects = compiler.compile([path], output_dir=tmp, extra_postargs=flags)
        compiler.link_executable(objects, "check_openmp", output_dir=tmp,
                                 extra_postargs=link_flags)
        return True
    except Exception:  # any compile or link failure means "no OpenMP here"
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExtOpenMP(build_ext):
    def build_extensions(self):
        use_openmp = os.environ.get("CLUSTERSTRUCT_NO_OPENMP", "") not in ("1", "true", "yes")
        if use_openmp and self.compiler.compiler_type == "unix":
            use_openmp = _compiler_accepts(self.compiler, ["-fopenmp"], ["-fopenmp"])
        elif self.compiler.compiler_type == "msvc":
            use_openmp = use_openmp  # /openmp is always accepted by MSVC
        march = os.environ.get("CLUSTERSTRUCT_MARCH", "")
        for ext in self.extensions:
            if self.compiler.compiler_type == "msvc":
                ext.extra_compile_args += ["/O2", "/fp:fast"] + (["/openmp"] if use_openmp else [])
                continue
            ext.extra_compile_args += ["-O3", "-ffast-math"]
            if march:
                ext.extra_compile_args.append(f"-march={march}")
            if use_openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        sys.stderr.write(f"clusterstruct: building kernels with OpenMP={'on' if use_openmp else 'off'}"
                         f"{', -march=' + march if march else ''}\n")
        super().build_extensions()


extensions = [
    Extension(
        "clusterstruct._pairs",
        ["cython_ext/_pairs.pyx"],
        include_dirs=[numpy.get_include()],
        libraries=[] if sys.platform == "win32" else ["m"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
    Extension(
        "clusterstruct._pdfpairs",
        ["cython_ext/_pdfpairs.pyx"],
        include_dirs=[numpy.get_include()],
        libraries=[] if sys.platform == "win32" else ["m"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
    Extension(
        "clusterstruct._optics",
        ["cython_ext/_optics.pyx"],
        include_dirs=[numpy.get_include()],
        libraries=[] if sys.platform == "win32" else ["m"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_ext": BuildExtOpenMP},
)
