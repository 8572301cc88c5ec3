// Umbrella header of the nn layer: modules, layers, functional, losses, optimizers, schedules.
#pragma once

#include "nn/checkpoint.h"
#include "nn/containers.h"
#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/attention.h"
#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/rotary.h"
#include "nn/module.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/sgd.h"
