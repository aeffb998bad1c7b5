"""The optimisation chapter's algorithms from scratch, as torch.optim.Optimizer subclasses.

Each takes PyTorch's argument names and follows PyTorch's update rule exactly (where the book's
formula differs, e.g. where eps sits, PyTorch's is used and the comment says so), so any model can
train with them and tests can compare them with torch.optim step for step. `weight_decay` adds
weight_decay * p to the gradient (an L2 penalty), as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch.optim import Optimizer

Params = Iterable[torch.Tensor] | Iterable[dict]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_common(lr: float, weight_decay: float) -> None:
    _require(lr >= 0, f"learning rate must be >= 0, got {lr}")
    _require(weight_decay >= 0, f"weight_decay must be >= 0, got {weight_decay}")


def _closure_loss(closure: Callable[[], torch.Tensor] | None) -> torch.Tensor | None:
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _gradients(group: dict) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, gradient + the L2 term) for each parameter of the group that has a gradient."""
    for param in group["params"]:
        if param.grad is None:
            continue
        grad = param.grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        yield param, grad


class SGD(Optimizer):
    """Plain (minibatch) gradient descent: p <- p - lr * g."""

    def __init__(self, params: Params, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        _check_common(lr, weight_decay)
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for param, grad in _gradients(group):
                param.add_(grad, alpha=-group["lr"])
        return loss


class Momentum(Optimizer):
    """SGD with momentum (torch.optim.SGD with momentum > 0): a velocity that averages past
    gradients, v <- momentum * v + (1 - dampening) * g (v = g on the first step), p <- p - lr * v.
    With nesterov, the step uses g + momentum * v, a look-ahead along the velocity."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        _check_common(lr, weight_decay)
        _require(0 <= momentum < 1, f"momentum must be in [0, 1), got {momentum}")
        _require(
            not nesterov or dampening == 0, "nesterov momentum needs dampening 0, as in PyTorch"
        )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            momentum = group["momentum"]
            for param, grad in _gradients(group):
                state = self.state[param]
                if "velocity" not in state:
                    state["velocity"] = grad.clone()
                else:
                    state["velocity"].mul_(momentum).add_(grad, alpha=1 - group["dampening"])
                velocity = state["velocity"]
                update = grad.add(velocity, alpha=momentum) if group["nesterov"] else velocity
                param.add_(update, alpha=-group["lr"])
        return loss


class AdaGrad(Optimizer):
    """AdaGrad: a per-coordinate learning rate lr / (sqrt(sum of past g^2) + eps); coordinates with
    large gradients slow down first. lr_decay divides lr by (1 + (t - 1) * lr_decay) at step t."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        _check_common(lr, weight_decay)
        _require(lr_decay >= 0, f"lr_decay must be >= 0, got {lr_decay}")
        _require(initial_accumulator_value >= 0, "initial_accumulator_value must be >= 0")
        _require(eps >= 0, f"eps must be >= 0, got {eps}")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            for param, grad in _gradients(group):
                state = self.state[param]
                if "sum_sq" not in state:
                    state["step"] = 0
                    state["sum_sq"] = torch.full_like(param, group["initial_accumulator_value"])
                state["step"] += 1
                lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                state["sum_sq"].addcmul_(grad, grad)
                # PyTorch adds eps outside the square root (the book puts it inside).
                std = state["sum_sq"].sqrt().add_(group["eps"])
                param.addcdiv_(grad, std, value=-lr)
        return loss


class RMSProp(Optimizer):
    """RMSProp: AdaGrad with a leaky average s <- alpha * s + (1 - alpha) * g^2 instead of a sum, so
    the learning rate stops shrinking. Optional momentum on the scaled step, and `centered`, which
    divides by an estimate of the gradient's standard deviation instead of its RMS."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        _check_common(lr, weight_decay)
        _require(0 <= alpha <= 1, f"alpha must be in [0, 1], got {alpha}")
        _require(eps >= 0, f"eps must be >= 0, got {eps}")
        _require(momentum >= 0, f"momentum must be >= 0, got {momentum}")
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            alpha = group["alpha"]
            for param, grad in _gradients(group):
                state = self.state[param]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(param)
                    state["grad_avg"] = torch.zeros_like(param)
                    state["momentum_buffer"] = torch.zeros_like(param)
                square_avg = state["square_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                if group["centered"]:
                    grad_avg = state["grad_avg"].mul_(alpha).add_(grad, alpha=1 - alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()  # std of g
                else:
                    avg = square_avg.sqrt()
                avg.add_(group["eps"])  # outside the square root, as in PyTorch
                if group["momentum"] > 0:
                    buffer = state["momentum_buffer"].mul_(group["momentum"]).addcdiv_(grad, avg)
                    param.add_(buffer, alpha=-group["lr"])
                else:
                    param.addcdiv_(grad, avg, value=-group["lr"])
        return loss


class AdaDelta(Optimizer):
    """AdaDelta: RMSProp whose step size is the RMS of past *updates*, so it needs no learning rate
    (lr only scales the final step; 1.0 is the algorithm as published).
    s <- rho s + (1 - rho) g^2;  d = sqrt(delta_avg + eps) / sqrt(s + eps) * g;
    delta_avg <- rho delta_avg + (1 - rho) d^2;  p <- p - lr d."""

    def __init__(
        self,
        params: Params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        _check_common(lr, weight_decay)
        _require(0 <= rho <= 1, f"rho must be in [0, 1], got {rho}")
        _require(eps >= 0, f"eps must be >= 0, got {eps}")
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            rho, eps = group["rho"], group["eps"]
            for param, grad in _gradients(group):
                state = self.state[param]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(param)
                    state["delta_avg"] = torch.zeros_like(param)
                square_avg = state["square_avg"].mul_(rho).addcmul_(grad, grad, value=1 - rho)
                delta_avg = state["delta_avg"]
                delta = delta_avg.add(eps).sqrt_().div_(square_avg.add(eps).sqrt_()).mul_(grad)
                delta_avg.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                param.add_(delta, alpha=-group["lr"])
        return loss


class Adam(Optimizer):
    """Adam: momentum (first moment m) and RMSProp scaling (second moment v), both bias-corrected
    for their zero start: p <- p - lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - beta1^t),
    v_hat = v / (1 - beta2^t). `amsgrad` divides by the largest v seen so far;
    `decoupled_weight_decay` shrinks p directly (AdamW) instead of adding to the gradient."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_common(lr, weight_decay)
        _require(all(0 <= beta < 1 for beta in betas), f"betas must be in [0, 1), got {betas}")
        _require(eps >= 0, f"eps must be >= 0, got {eps}")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = _closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr = group["lr"]
            decoupled = group["decoupled_weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if decoupled:
                    param.mul_(1 - lr * group["weight_decay"])
                elif group["weight_decay"] != 0:
                    grad = grad.add(param, alpha=group["weight_decay"])
                state = self.state[param]
                if "exp_avg" not in state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param)
                    state["exp_avg_sq"] = torch.zeros_like(param)
                    state["max_exp_avg_sq"] = torch.zeros_like(param)
                state["step"] += 1
                exp_avg = state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq = state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                if group["amsgrad"]:
                    exp_avg_sq = torch.maximum(state["max_exp_avg_sq"], exp_avg_sq)
                    state["max_exp_avg_sq"].copy_(exp_avg_sq)
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(group["eps"])
                param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
        return loss
