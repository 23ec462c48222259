#!/usr/bin/env bash
# The sweeps behind docs/results.md (run from the repository root).
set -u
A="python -m arbnet_keras"
Q="--quiet --seeds 3"
$A sweep dirichlet --dataset mnist_5k --alpha 0.001 0.01 0.1 1 10 100 --sparsity 0 0.5 0.9 --epochs 20 --out runs/mnist5k_dirichlet $Q
$A sweep neighborhood --dataset mnist_5k --radius 0 1 10 100 500 --sparsity 0 0.5 0.9 --numbering out_in in_out --epochs 20 --out runs/mnist5k_neighborhood $Q
$A sweep neighborhood --dataset mnist_5k --radius 0 1 10 100 500 --sparsity 0.5 0.9 --numbering out_in --number-zeros false --epochs 20 --out runs/mnist5k_neighborhood_nonzero $Q
$A sweep dirichlet --dataset fashion_mnist_debian --alpha 0.001 0.01 0.1 1 10 --sparsity 0 0.5 0.9 --epochs 5 --out runs/fmnist_dirichlet $Q
$A sweep neighborhood --dataset fashion_mnist_debian --radius 0 3 30 300 --sparsity 0 0.5 0.9 --numbering out_in in_out --epochs 5 --out runs/fmnist_neighborhood $Q
$A sweep neighborhood --dataset fashion_mnist_debian --radius 0 3 30 300 --sparsity 0.5 0.9 --numbering out_in --number-zeros false --epochs 5 --out runs/fmnist_neighborhood_nonzero $Q

# Issue 13: why convolutions work (docs/results.md, "Why convolutions
# work"). 40 epochs: on Fashion-MNIST the plateau schedule first cuts the
# learning rate between epochs 21 and 39. TensorFlow here: it ran this
# network faster than JAX on this CPU (JAX reads the stored index slower).
$A sweep convolution --dataset mnist_5k --merge 10 20 40 50 100 --epochs 40 --out runs/mnist5k_convolution $Q
$A sweep convolution --dataset fashion_mnist_debian --epochs 40 --out runs/fmnist_convolution $Q
# The neighborhood sweep on Fashion-MNIST for as many epochs, on JAX
# (1.4x faster than TensorFlow for this MLP here; needs jax installed).
$A sweep neighborhood --backend jax --dataset fashion_mnist_debian --radius 0 3 30 300 --sparsity 0 0.5 0.9 --numbering out_in --epochs 40 --out runs/fmnist_neighborhood_40ep $Q
for d in mnist5k_convolution fmnist_convolution fmnist_neighborhood_40ep; do
    arbnet plot runs/$d
    arbnet claims runs/$d > runs/$d/claims.md
done

# Issue 12: HashedNets' expansion (docs/results.md, "Expansion"). The
# widths grew over sessions; --force accepts new widths and keeps the
# runs already done.
$A sweep expansion --dataset mnist_5k --widths 100 300 1000 3000 10000 30000 100000 --table-size 10000 --epochs 10 --out runs/expansion_mnist5k --plot --force $Q
$A sweep expansion --dataset fashion_mnist_debian --widths 100 300 1000 3000 10000 30000 --table-size 10000 --epochs 5 --out runs/expansion_fmnist --plot --force $Q
$A sweep expansion --dataset mnist_5k --widths 10000 30000 100000 --table-size 10000 --epochs 10 --learning-rate 0.01 --no-baseline --out runs/expansion_mnist5k_lr001 --plot $Q
