using static TorchSharp.torch;

namespace LongContext.Parallel.Distributed;

public enum P2PKind { Send, Recv }

/// <summary>
/// One point-to-point transfer of a batch (<see cref="IProcessGroup.BatchSendRecvAsync"/>, torch's
/// <c>batch_isend_irecv</c>). <see cref="Peer"/> is a rank of the group the batch is posted to. Between two ranks,
/// sends and receives match in the order they are posted; the receiver's tensor must have the sender's dtype and
/// element count.
/// </summary>
public sealed record P2POp(P2PKind Kind, Tensor Tensor, int Peer)
{
    public static P2POp Send(Tensor tensor, int peer) => new(P2PKind.Send, tensor, peer);
    public static P2POp Recv(Tensor tensor, int peer) => new(P2PKind.Recv, tensor, peer);
}
