//! Spiking neuron, loss, optimizer and reduction kernels against their CPU references.

mod checks;
mod common;

check!(if_forward_exact, checks::spiking::if_forward_exact);
check!(if_forward_big_grid, checks::spiking::if_forward_big_grid);
check!(if_backward_vs_cpu, checks::spiking::if_backward_vs_cpu);
check!(if_backward_big_grid, checks::spiking::if_backward_big_grid);
check!(if_forward_count_limit, checks::spikes::if_forward_count_limit);
check!(spike_map_count_vs_cpu, checks::spikes::spike_map_count_vs_cpu);
check!(softmax_xent_vs_cpu, checks::loss::softmax_xent_vs_cpu);
check!(softmax_xent_errors, checks::loss::softmax_xent_errors);
check!(sgd_steps, checks::optim::sgd_steps);
check!(adam_steps, checks::optim::adam_steps);
check!(reductions, checks::reduce::reductions);
check!(time_axis, checks::reduce::time_axis);
check!(histograms, checks::reduce::histograms);
